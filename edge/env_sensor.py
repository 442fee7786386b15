"""Room environment sensors behind one small interface.

`Bme280Sensor` reads a Bosch BME280 over I²C on a Pi; it needs `smbus2` (`pip install smbus2`), imported only
when the sensor is made, so the agent runs without it elsewhere. `SimulatedEnvSensor` is for the simulator.
"""

import random
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EnvReading:
    """Hundredths of a degree and of a percent, as `env.reading` carries them."""

    temp_c_x100: int
    rh_x100: int
    co2_ppm: int | None = None

    def data(self) -> dict[str, int | None]:
        return {"temp_c_x100": self.temp_c_x100, "rh_x100": self.rh_x100, "co2_ppm": self.co2_ppm}


class EnvSensor(Protocol):
    def read(self) -> EnvReading: ...


class SimulatedEnvSensor:
    """A room that drifts a little around what it is set to; the simulator moves `temp_c` / `rh` to script a scene."""

    def __init__(self, temp_c: float = 21.0, rh: float = 45.0, co2_ppm: int | None = None, seed: int | None = None):
        self.temp_c, self.rh, self.co2_ppm = temp_c, rh, co2_ppm
        self._random = random.Random(seed)

    def read(self) -> EnvReading:
        temp = self.temp_c + self._random.uniform(-0.1, 0.1)
        rh = self.rh + self._random.uniform(-0.5, 0.5)
        return EnvReading(round(temp * 100), round(rh * 100), self.co2_ppm)


def _s16(low: int, high: int) -> int:
    value = low | high << 8
    return value - 65536 if value > 32767 else value


class Bme280Sensor:
    """A BME280 in forced mode: one measurement per read, compensated as the Bosch datasheet (section 4.2.3) says."""

    def __init__(self, bus: int = 1, address: int = 0x76) -> None:
        from smbus2 import SMBus  # Optional: only a Pi with the sensor needs it.

        self._bus, self._address = SMBus(bus), address
        t = self._bus.read_i2c_block_data(address, 0x88, 6)
        self._t = (t[0] | t[1] << 8, _s16(t[2], t[3]), _s16(t[4], t[5]))
        h1 = self._bus.read_byte_data(address, 0xA1)
        h = self._bus.read_i2c_block_data(address, 0xE1, 7)
        h4 = h[3] << 4 | h[4] & 0x0F
        h5 = h[5] << 4 | h[4] >> 4
        self._h = (h1, _s16(h[0], h[1]), h[2], h4 - 4096 if h4 > 2047 else h4, h5 - 4096 if h5 > 2047 else h5,
                   h[6] - 256 if h[6] > 127 else h[6])

    def read(self) -> EnvReading:
        bus, address = self._bus, self._address
        bus.write_byte_data(address, 0xF2, 0x01)  # humidity x1
        bus.write_byte_data(address, 0xF4, 0x25)  # temperature x1, pressure x1, forced mode
        while bus.read_byte_data(address, 0xF3) & 0x08:
            time.sleep(0.002)
        raw = bus.read_i2c_block_data(address, 0xF7, 8)
        adc_t = raw[3] << 12 | raw[4] << 4 | raw[5] >> 4
        adc_h = raw[6] << 8 | raw[7]
        t1, t2, t3 = self._t
        var1 = (adc_t / 16384.0 - t1 / 1024.0) * t2
        var2 = (adc_t / 131072.0 - t1 / 8192.0) ** 2 * t3
        t_fine = var1 + var2
        h1, h2, h3, h4, h5, h6 = self._h
        h = t_fine - 76800.0
        h = (adc_h - (h4 * 64.0 + h5 / 16384.0 * h)) * (
            h2 / 65536.0 * (1.0 + h6 / 67108864.0 * h * (1.0 + h3 / 67108864.0 * h))
        )
        rh = min(max(h * (1.0 - h1 * h / 524288.0), 0.0), 100.0)
        return EnvReading(round(t_fine / 5120.0 * 100), round(rh * 100), None)


def make_env_sensor(kind: str | None, bus: int = 1, address: int = 0x76) -> EnvSensor | None:
    if kind == "simulated":
        return SimulatedEnvSensor()
    if kind == "bme280":
        return Bme280Sensor(bus, address)
    return None
