//go:build !amd64

package tsc

func measure() uint64 { return 0 }
