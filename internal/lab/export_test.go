package lab

// StopGrace is how long Stop waits for a program after "quit" before it
// interrupts it.
const StopGrace = stopGrace
