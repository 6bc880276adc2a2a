// Package kernel is mote's library operating system. Importing it links the kernel into a Go
// program; mote build adds that import to an app through an -overlay file.
//
// This file is a placeholder until the kernel lands.
package kernel
