/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mvm guest program: a 64-bit command loop, position independent,
 * copied to MVM_CODE_GPA by mvm_vcpu_create(). See mvm.h for the commands.
 *
 * On entry rsi holds the vCPU id: the mailbox is MBOX + id * MBOX_SIZE.
 *
 * Registers: r15 mailbox, r8 current page, r9 pages left, rdx seed,
 * r10 "expect zero" flag, rbx value, rcx mismatch address on exit.
 *
 * Exceptions 0-31 enter mvm_guest_vectors + 16 * vector (the IDT that
 * mvm.c builds), which report MVM_EXCEPTION at PORT_RESULT: vector and
 * error code in value, CR2 in addr, the faulting rip in the mailbox's
 * rip, then halt. Without them an exception would be a triple fault that
 * says nothing.
 */
#define PORT_CMD	0x20
#define PORT_RESULT	0x21
#define MBOX		0x50000
#define MBOX_SIZE	64
#define PAGE		4096
#define MVM_EXCEPTION	3
#define QWORDS		512

	.text
	.code64
	.globl	mvm_guest_start
	.globl	mvm_guest_end
mvm_guest_start:
	cld
	imul	$MBOX_SIZE, %rsi, %r15
	add	$MBOX, %r15
.Lloop:
	outb	%al, $PORT_CMD
	mov	0(%r15), %rax
	mov	8(%r15), %r8
	mov	16(%r15), %r9
	mov	24(%r15), %rdx
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%r10d, %r10d
	cmp	$0, %rax
	je	.Lok
	cmp	$1, %rax
	je	.Lfill
	cmp	$2, %rax
	je	.Lcheck
	cmp	$3, %rax
	je	.Lzero
	cmp	$4, %rax
	je	.Ltouch_rd
	cmp	$5, %rax
	je	.Ltouch_wr
	cmp	$6, %rax
	je	.Lping
	cmp	$7, %rax
	je	.Ltouch_list
	mov	$2, %eax			/* MVM_BAD_OP */
	jmp	.Lresult

.Lfill:
	test	%r9, %r9
	jz	.Lok
	mov	%r8, %rax
	xor	%rdx, %rax
	mov	%r8, %rdi
	mov	$QWORDS, %ecx
	rep stosq
	add	$PAGE, %r8
	dec	%r9
	jmp	.Lfill

.Lzero:
	mov	$1, %r10d
.Lcheck:
	test	%r9, %r9
	jz	.Lok
	mov	%r8, %rax
	xor	%rdx, %rax
	test	%r10, %r10
	jz	1f
	xor	%eax, %eax
1:	mov	%r8, %rdi
	mov	$QWORDS, %ecx
	repe scasq
	jne	.Lmismatch
	add	$PAGE, %r8
	dec	%r9
	jmp	.Lcheck
.Lmismatch:
	lea	-8(%rdi), %rcx
	mov	$1, %eax			/* MVM_MISMATCH */
	jmp	.Lresult

.Ltouch_rd:
	test	%r9, %r9
	jz	.Lok
	add	(%r8), %rbx
	add	$PAGE, %r8
	dec	%r9
	jmp	.Ltouch_rd

.Ltouch_wr:
	test	%r9, %r9
	jz	.Lok
	mov	%r8, %rax
	xor	%rdx, %rax
	mov	%rax, (%r8)
	add	$PAGE, %r8
	dec	%r9
	jmp	.Ltouch_wr

/* r8 base, r9 entries, rdx the list: byte offsets from r8, one qword each */
.Ltouch_list:
	test	%r9, %r9
	jz	.Lok
	mov	(%rdx), %rax
	add	(%r8,%rax), %rbx
	add	$8, %rdx
	dec	%r9
	jmp	.Ltouch_list

.Lping:
	lea	1(%r8), %rbx
.Lok:
	xor	%eax, %eax			/* MVM_OK */
.Lresult:
	mov	%rax, 32(%r15)
	mov	%rbx, 40(%r15)
	mov	%rcx, 48(%r15)
	outb	%al, $PORT_RESULT
	jmp	.Lloop

/* Exception entries: 16 bytes apart, vector in al. */
	.balign	16
	.globl	mvm_guest_vectors
mvm_guest_vectors:
	.irp	v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign	16
	movb	$\v, %al
	jmp	.Lexception
	.endr

/* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30. */
#define ERRCODE_VECTORS	0x60227d00

.Lexception:
	movzbl	%al, %eax
	xor	%ecx, %ecx
	mov	$ERRCODE_VECTORS, %edx
	bt	%eax, %edx
	jnc	1f
	pop	%rcx
1:	shl	$8, %rcx
	or	%rcx, %rax
	mov	(%rsp), %rdx			/* the faulting rip */
	mov	%cr2, %rcx
	mov	%rax, 40(%r15)
	mov	%rcx, 48(%r15)
	mov	%rdx, 56(%r15)
	mov	$MVM_EXCEPTION, %eax
	mov	%rax, 32(%r15)
	outb	%al, $PORT_RESULT
2:	hlt
	jmp	2b
mvm_guest_end:

	.section .note.GNU-stack, "", @progbits
