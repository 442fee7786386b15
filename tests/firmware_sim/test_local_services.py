"""The local PostgreSQL the tests and benchmarks start: stopping it leaves no cluster behind in the temp folder,
and a folder the caller gave is the caller's to keep."""

import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from firmware_sim.local_services import LocalPostgres


def _answers(cluster: LocalPostgres) -> bool:
    engine = create_engine(cluster.url())
    with engine.connect() as connection:
        answered = connection.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
    return answered


def test_a_cluster_in_a_folder_of_its_own_making_is_removed_when_stopped() -> None:
    cluster = LocalPostgres().start()
    assert _answers(cluster)

    cluster.stop()

    assert not cluster.workdir.exists()


def test_a_cluster_in_a_given_folder_is_kept_when_stopped_and_starts_again_from_it() -> None:
    # Under the temp dir, not pytest's folders: as root the cluster runs as `postgres`, who cannot enter those.
    given = Path(tempfile.mkdtemp(prefix="threshold-pg-test-"))
    try:
        cluster = LocalPostgres(workdir=given).start()
        cluster.stop()
        assert (given / "data" / "PG_VERSION").exists()

        again = LocalPostgres(workdir=given, port=cluster.port).start()
        assert _answers(again)
        again.stop()
    finally:
        shutil.rmtree(given, ignore_errors=True)
