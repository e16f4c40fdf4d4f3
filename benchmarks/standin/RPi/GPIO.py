"""Present so the Explorer HAT board finds the libraries it requires; the stand-in
explorerhat never uses them (a fake: there is no bus here)."""
