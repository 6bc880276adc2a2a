#include "go_asm.h"
#include "textflag.h"

// The PVH entry, trap and system-call entry paths, and the return to user mode.
//
// Register use when Go code is called from here (the kernel's trap ABI):
//	R14	&kernelG, a g whose stack bounds cover kstack (Go's stack checks pass)
//	X15	zero
//	FS_BASE	&ktls[1], so the ABI0 wrappers find kernelG at -8(FS)
// While a thread runs in user mode FS_BASE holds its own TLS (curFS).

#define MSR_EFER	0xC0000080
#define MSR_FS_BASE	0xC0000100
#define PVH_MAGIC	0x336ec578

// entry32 is the PVH entry point: 32-bit protected mode, paging off, EBX
// holding the physical address of hvm_start_info, ESP undefined.
//
// Go's assembler only emits 64-bit encodings, so this code uses only
// instructions that decode the same in 32-bit mode. It cannot name absolute
// addresses: LEAL sym(SB) is RIP-relative in 64-bit mode and decodes in
// 32-bit mode as the constant sym-(end of instruction). The code finds its
// own address with CALL/POP, borrowing the first 4 bytes of hvm_start_info
// (its magic, restored right after) as a one-word stack, and adds it back.
TEXT ·entry32(SB),NOSPLIT|NOFRAME,$0
	CLI
	MOVL	BX, SP
	ADDL	$4, SP
	BYTE	$0xE8; BYTE $0; BYTE $0; BYTE $0; BYTE $0 // CALL next instruction
	POPQ	BP				// BP = address of this POP (1 byte)
	LEAL	·bootPT(SB), DI			// 6 bytes, ends at BP+7
	LEAL	·entry64(SB), SI		// ends at BP+13
	LEAL	·bootGDT(SB), AX		// ends at BP+19
	LEAL	·bootGDTDesc(SB), DX		// ends at BP+25
	ADDL	BP, DI
	ADDL	$7, DI
	ADDL	BP, SI
	ADDL	$13, SI
	ADDL	BP, AX
	ADDL	$19, AX
	ADDL	BP, DX
	ADDL	$25, DX
	MOVL	$PVH_MAGIC, CX
	MOVL	CX, (BX)

	// The GDT pseudo-descriptor: limit, then a 64-bit base.
	MOVL	$23, CX
	MOVW	CX, (DX)
	MOVL	AX, 2(DX)
	MOVL	$0, 6(DX)
	LGDT	(DX)

	// Page tables in bootPT, aligned up to 4 KiB: PML4, PDPT, PD identity
	// mapping the first GiB with 2 MiB pages; the next pages are a stack.
	ADDL	$4095, DI
	ANDL	$~4095, DI
	MOVL	DI, BP
	XORL	AX, AX
	MOVL	$(3*1024), CX
	REP;	STOSL
	LEAL	0x1003(BP), AX
	MOVL	AX, (BP)
	LEAL	0x2003(BP), AX
	MOVL	AX, 0x1000(BP)
	LEAL	0x2000(BP), DI
	MOVL	$0x83, AX
	MOVL	$512, CX
fillpd:
	MOVL	AX, (DI)
	ADDL	$0x200000, AX
	ADDL	$8, DI
	SUBL	$1, CX
	JNE	fillpd
	LEAL	0x5000(BP), SP

	// PAE, then the page tables, then long mode with NX, then paging.
	MOVQ	CR4, AX
	ORL	$0x20, AX
	MOVQ	AX, CR4
	MOVQ	BP, CR3
	MOVL	$MSR_EFER, CX
	RDMSR
	ORL	$0x900, AX
	WRMSR
	MOVQ	CR0, AX
	ORL	$0x80010001, AX	// PG | WP | PE
	MOVQ	AX, CR0

	// Far-return into 64-bit code at entry64, through the new GDT.
	PUSHQ	$8
	PUSHQ	SI
	BYTE	$0xCB // LRET

// entry64 runs in long mode on the boot page tables and stack.
TEXT ·entry64(SB),NOSPLIT|NOFRAME,$0
	MOVL	$0x10, AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, SS
	MOVW	AX, FS
	MOVW	AX, GS
	MOVL	BX, BX
	MOVQ	BX, ·startInfoAddr(SB)

	// SSE on: Go code uses XMM registers everywhere.
	MOVQ	CR0, AX
	ANDQ	$~4, AX		// EM off
	ORQ	$2, AX		// MP on
	MOVQ	AX, CR0
	MOVQ	CR4, AX
	ORQ	$0x600, AX	// OSFXSR | OSXMMEXCPT
	MOVQ	AX, CR4

	// The kernel stack and the g that describes it.
	LEAQ	·kstack(SB), AX
	MOVQ	AX, ·kernelG+0(SB)	// stack.lo
	LEAQ	8192(AX), BX
	MOVQ	BX, ·kernelG+16(SB)	// stackguard0
	MOVQ	BX, ·kernelG+24(SB)	// stackguard1
	ADDQ	$const_kstackSize, AX
	ANDQ	$~15, AX
	MOVQ	AX, ·kernelG+8(SB)	// stack.hi
	MOVQ	AX, ·kstackTop(SB)
	SUBQ	$256, AX	// kmain writes the first thread's frame at the top
	MOVQ	AX, SP

	// TLS: kernelG at -8(FS).
	LEAQ	·kernelG(SB), AX
	MOVQ	AX, ·ktls+0(SB)
	LEAQ	·ktls+8(SB), AX
	MOVQ	AX, ·kernelFS(SB)
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$MSR_FS_BASE, CX
	WRMSR

	LEAQ	·kernelG(SB), R14
	XORPS	X15, X15
	CALL	·kmain(SB)
	CLI
	HLT

// Image bounds, from the linker.
TEXT ·imageStart(SB),NOSPLIT,$0-8
	LEAQ	runtime·text(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·imageEnd(SB),NOSPLIT,$0-8
	LEAQ	runtime·end(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// The Linux process entry point of Go's runtime.
TEXT ·rt0Addr(SB),NOSPLIT,$0-8
	LEAQ	_rt0_amd64_linux(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// Trap entry stubs: push an error code where the CPU did not, then the vector.
TEXT ·trap0(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$0
	JMP	trapcommon<>(SB)

TEXT ·trap1(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$1
	JMP	trapcommon<>(SB)

TEXT ·trap2(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$2
	JMP	trapcommon<>(SB)

TEXT ·trap3(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$3
	JMP	trapcommon<>(SB)

TEXT ·trap4(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$4
	JMP	trapcommon<>(SB)

TEXT ·trap5(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$5
	JMP	trapcommon<>(SB)

TEXT ·trap6(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$6
	JMP	trapcommon<>(SB)

TEXT ·trap7(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$7
	JMP	trapcommon<>(SB)

TEXT ·trap8(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$8
	JMP	trapcommon<>(SB)

TEXT ·trap9(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$9
	JMP	trapcommon<>(SB)

TEXT ·trap10(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$10
	JMP	trapcommon<>(SB)

TEXT ·trap11(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$11
	JMP	trapcommon<>(SB)

TEXT ·trap12(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$12
	JMP	trapcommon<>(SB)

TEXT ·trap13(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$13
	JMP	trapcommon<>(SB)

TEXT ·trap14(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$14
	JMP	trapcommon<>(SB)

TEXT ·trap15(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$15
	JMP	trapcommon<>(SB)

TEXT ·trap16(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$16
	JMP	trapcommon<>(SB)

TEXT ·trap17(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$17
	JMP	trapcommon<>(SB)

TEXT ·trap18(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$18
	JMP	trapcommon<>(SB)

TEXT ·trap19(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$19
	JMP	trapcommon<>(SB)

TEXT ·trap20(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$20
	JMP	trapcommon<>(SB)

TEXT ·trap21(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$21
	JMP	trapcommon<>(SB)

TEXT ·trap32(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$32
	JMP	trapcommon<>(SB)

TEXT ·trap33(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$33
	JMP	trapcommon<>(SB)

TEXT ·trap34(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$34
	JMP	trapcommon<>(SB)

TEXT ·trap35(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$35
	JMP	trapcommon<>(SB)

TEXT ·trap36(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$36
	JMP	trapcommon<>(SB)

TEXT ·trap37(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$37
	JMP	trapcommon<>(SB)

TEXT ·trap38(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$38
	JMP	trapcommon<>(SB)

TEXT ·trap39(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$39
	JMP	trapcommon<>(SB)

TEXT ·trap40(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$40
	JMP	trapcommon<>(SB)

TEXT ·trap255(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$255
	JMP	trapcommon<>(SB)

// stubAddr returns the address of stub i; stubtab lists the stubs for the IDT, in vector order of trapVectors.
TEXT ·stubAddr(SB),NOSPLIT,$0-16
	MOVQ	i+0(FP), AX
	LEAQ	stubtab<>(SB), BX
	MOVQ	(BX)(AX*8), AX
	MOVQ	AX, ret+8(FP)
	RET

DATA stubtab<>+0(SB)/8, $·trap0(SB)
DATA stubtab<>+8(SB)/8, $·trap1(SB)
DATA stubtab<>+16(SB)/8, $·trap2(SB)
DATA stubtab<>+24(SB)/8, $·trap3(SB)
DATA stubtab<>+32(SB)/8, $·trap4(SB)
DATA stubtab<>+40(SB)/8, $·trap5(SB)
DATA stubtab<>+48(SB)/8, $·trap6(SB)
DATA stubtab<>+56(SB)/8, $·trap7(SB)
DATA stubtab<>+64(SB)/8, $·trap8(SB)
DATA stubtab<>+72(SB)/8, $·trap9(SB)
DATA stubtab<>+80(SB)/8, $·trap10(SB)
DATA stubtab<>+88(SB)/8, $·trap11(SB)
DATA stubtab<>+96(SB)/8, $·trap12(SB)
DATA stubtab<>+104(SB)/8, $·trap13(SB)
DATA stubtab<>+112(SB)/8, $·trap14(SB)
DATA stubtab<>+120(SB)/8, $·trap15(SB)
DATA stubtab<>+128(SB)/8, $·trap16(SB)
DATA stubtab<>+136(SB)/8, $·trap17(SB)
DATA stubtab<>+144(SB)/8, $·trap18(SB)
DATA stubtab<>+152(SB)/8, $·trap19(SB)
DATA stubtab<>+160(SB)/8, $·trap20(SB)
DATA stubtab<>+168(SB)/8, $·trap21(SB)
DATA stubtab<>+176(SB)/8, $·trap32(SB)
DATA stubtab<>+184(SB)/8, $·trap33(SB)
DATA stubtab<>+192(SB)/8, $·trap34(SB)
DATA stubtab<>+200(SB)/8, $·trap35(SB)
DATA stubtab<>+208(SB)/8, $·trap36(SB)
DATA stubtab<>+216(SB)/8, $·trap37(SB)
DATA stubtab<>+224(SB)/8, $·trap38(SB)
DATA stubtab<>+232(SB)/8, $·trap39(SB)
DATA stubtab<>+240(SB)/8, $·trap40(SB)
DATA stubtab<>+248(SB)/8, $·trap255(SB)
GLOBL stubtab<>(SB), RODATA, $256

#define PUSHREGS \
	PUSHQ	AX; PUSHQ BX; PUSHQ CX; PUSHQ DX; PUSHQ SI; PUSHQ DI; PUSHQ BP; \
	PUSHQ	R8; PUSHQ R9; PUSHQ R10; PUSHQ R11; PUSHQ R12; PUSHQ R13; PUSHQ R14; PUSHQ R15

#define POPREGS \
	POPQ	R15; POPQ R14; POPQ R13; POPQ R12; POPQ R11; POPQ R10; POPQ R9; POPQ R8; \
	POPQ	BP; POPQ DI; POPQ SI; POPQ DX; POPQ CX; POPQ BX; POPQ AX

// trapcommon: the stack holds vector, error code and the CPU's interrupt
// frame. A trap from user mode arrived on kstackTop (TSS.RSP0), so its frame
// sits at the top of the kernel stack; a trap from the kernel (only possible
// in the idle loop, or on a kernel bug) is nested on the current stack.
TEXT trapcommon<>(SB),NOSPLIT|NOFRAME,$0
	TESTQ	$3, 24(SP)
	JZ	fromkernel
	PUSHREGS
	JMP	usertrap<>(SB)
fromkernel:
	PUSHREGS
	MOVQ	SP, AX
	SUBQ	$16, SP
	MOVQ	AX, 0(SP)
	CALL	·ktrap(SB)
	ADDQ	$16, SP
	POPREGS
	ADDQ	$16, SP
	IRETQ

// syscallEntry is the SYSCALL target (MSR_LSTAR). SYSCALL leaves the user
// RSP in place, RIP in RCX and RFLAGS in R11; build the same frame a trap
// would, with vector 256.
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SP, ·userSP(SB)
	MOVQ	·kstackTop(SB), SP
	PUSHQ	$0x1b		// SS
	PUSHQ	·userSP(SB)	// RSP
	PUSHQ	R11		// RFLAGS
	PUSHQ	$0x23		// CS
	PUSHQ	CX		// RIP
	PUSHQ	$0		// error code
	PUSHQ	$256		// vector
	PUSHREGS
	JMP	usertrap<>(SB)

// usertrap saves the thread's vector state, switches to the kernel TLS and
// calls trap(frame). trap returns with the frame of the thread to resume
// written in place, curFX and curFS naming its vector state and TLS.
TEXT usertrap<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	·curFX(SB), AX
	FXSAVE64	(AX)
	MOVQ	·kernelFS(SB), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$MSR_FS_BASE, CX
	WRMSR
	LEAQ	·kernelG(SB), R14
	XORPS	X15, X15
	MOVQ	SP, AX
	SUBQ	$16, SP
	MOVQ	AX, 0(SP)
	CALL	·trap(SB)
	ADDQ	$16, SP
	JMP	userret<>(SB)

TEXT userret<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	·curFX(SB), AX
	FXRSTOR64	(AX)
	MOVQ	·curFS(SB), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$MSR_FS_BASE, CX
	WRMSR
	POPREGS
	ADDQ	$16, SP
	IRETQ

// enterUser starts user mode from kmain: the frame at the top of the kernel
// stack has been filled in, as trap would leave it.
TEXT ·enterUser(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ	frame+0(FP), AX
	MOVQ	AX, SP
	JMP	userret<>(SB)

TEXT ·syscallEntryAddr(SB),NOSPLIT,$0-8
	LEAQ	·syscallEntry(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
