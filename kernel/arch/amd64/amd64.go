// Package amd64 wraps the privileged x86-64 instructions the kernel needs:
// port I/O, model-specific registers, control registers, descriptor tables
// and the time-stamp counter. Each function is one instruction or close to it;
// they run in ring 0 only.
//
// Register use is plain Go ABI0: arguments and results on the stack.
package amd64

// Outb writes v to I/O port port.
func Outb(port uint16, v uint8)

// Inb reads I/O port port.
func Inb(port uint16) uint8

// Outl writes v to I/O port port.
func Outl(port uint16, v uint32)

// Inl reads a 32-bit value from I/O port port.
func Inl(port uint16) uint32

// Rdmsr reads model-specific register msr.
func Rdmsr(msr uint32) uint64

// Wrmsr writes v to model-specific register msr.
func Wrmsr(msr uint32, v uint64)

// Rdtsc reads the time-stamp counter.
func Rdtsc() uint64

// Cpuid executes CPUID for leaf and subleaf.
func Cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// ReadCR2 returns the faulting address of the last page fault.
func ReadCR2() uint64

// ReadCR3 returns the page-table root.
func ReadCR3() uint64

// WriteCR3 loads a new page-table root, flushing the TLB.
func WriteCR3(v uint64)

// ReadCR4 and WriteCR4 access control register 4.
func ReadCR4() uint64
func WriteCR4(v uint64)

// Invlpg flushes the TLB entry for the page holding addr.
func Invlpg(addr uintptr)

// Lgdt loads the GDT from the 10-byte pseudo-descriptor at desc and reloads
// the data segment registers with ds; CS keeps selector cs, which must
// name the same kind of descriptor in the new table.
func Lgdt(desc uintptr, cs, ds uint16)

// Lidt loads the IDT from the 10-byte pseudo-descriptor at desc.
func Lidt(desc uintptr)

// Ltr loads the task register with selector sel.
func Ltr(sel uint16)

// StiHlt enables interrupts and halts until one arrives, atomically: an
// interrupt pending before HLT still wakes it. Interrupts are disabled again
// before it returns.
func StiHlt()

// Pause hints a spin-wait loop.
func Pause()

// Halt stops the CPU for good.
func Halt()

// Rdrand returns a hardware random number; ok is false when the CPU has
// none to give.
func Rdrand() (v uint64, ok bool)
