"""A simulated care home: the real door agent on gpiozero's mock pins, scripted people, and load."""
