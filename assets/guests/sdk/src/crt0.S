/*
 * Entry of a C guest (assets/guests/README.md, "Entry"): 64-bit mode, CPL 3, RDI = this
 * vCPU's boot-info block, RSP = the VMM's stack top - 8. vCPU 0 moves to the image's own
 * stack (__rs_stack_top, in .bss, size set by the linker script) and runs rs_start(boot);
 * the others stay on the VMM's stack and run rs_start_secondary(boot). Neither returns.
 */
    .section .text._start, "ax"
    .globl _start
    .type _start, @function
_start:
    movl 40(%rdi), %eax              /* boot->cpu_index */
    testl %eax, %eax
    jnz 1f
    leaq __rs_stack_top(%rip), %rsp
    andq $-16, %rsp
    xorl %ebp, %ebp
    call rs_start
    ud2
1:  andq $-16, %rsp
    xorl %ebp, %ebp
    call rs_start_secondary
    ud2
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
