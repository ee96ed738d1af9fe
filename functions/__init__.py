"""FC functions, one thin module each. Packaged flat: ``functions/x.py`` becomes ``x.py`` at the
code root, so each handler string is ``<module>.handler``."""
