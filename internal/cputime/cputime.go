// Package cputime reads the processor time this process has used, which
// benchmarks report beside wall time: on a shared machine it counts this
// process's work alone.
package cputime
