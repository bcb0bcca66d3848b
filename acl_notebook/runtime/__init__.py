"""Backends behind one interface: the ctypes binding to libascendcl and the simulator."""
