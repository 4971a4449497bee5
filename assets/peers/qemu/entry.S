/*
 * The CPL-0 part of the Ringside boot stub for QEMU (README.md here): a multiboot entry
 * that reaches 64-bit long mode with Ringside's segments, drops to the CPL-3 loader
 * (loader.c), and the few handlers the guest needs afterwards: the frame doorbell (port
 * 0xF0, denied by the I/O permission bitmap so it faults here), the pacing timer, and
 * a record of any other exception.
 *
 * Everything here runs at CPL 0, which PVM hosts emulate instruction by instruction
 * (~1 us each): keep it short. The descriptor tables and page tables are static data
 * (stub.ld computes the split addresses), so booting costs about 30 instructions (and
 * about 50 more for a second vCPU) and a doorbell about 25.
 */
#include "abi_asm.h"          /* the ABI numbers, generated from ringside_abi.h by build.sh */
#include "ringside_qemu_stub.h"

#define MB_MAGIC      0x1BADB002
#define MB_FLAGS      0x00010003 /* page-aligned modules, memory info, load addresses below */

#define KERNEL_CODE   0x08
#define KERNEL_DATA   0x10
#define USER_DATA     (0x18 | 3)
#define USER_CODE     (0x20 | 3)
#define TSS_SELECTOR  0x28        /* vCPU 0's TSS; vCPU 1's is TSS_SELECTOR + 16 */
#define CODE32        0x48        /* 32-bit code, for vCPU 1's way from real mode */

#define APIC_BASE     0xFEE00000  /* every vCPU's local APIC, at the same address */
#define AP_TICK       0x21        /* the vector vCPU 0's timer relays the tick to vCPU 1 with */

#define STATE(off)    (RSQ_GPA_STATE + (off))

    .section .multiboot, "a"
    .balign 4
mb_header:                        /* QEMU loads the flat image at load_addr (a.out kludge) */
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    .long mb_header, __load_start, __load_end, __bss_end, entry32

/* Multiboot entry: 32-bit protected mode, paging off, EAX = magic, EBX = multiboot info. */
    .section .text.entry32, "ax"
    .code32
    .globl entry32
entry32:
    mov %ebx, mb_info_address
    xor %esi, %esi                /* vCPU 0 */
long_mode:                        /* ESI: vCPU 0 or 1 */
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0x620, %eax              /* PAE, OSFXSR, OSXMMEXCPT (SSE usable) */
    mov %eax, %cr4
    mov $0xC0000080, %ecx         /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov $0x80000033, %eax         /* PG, NE, ET, MP, PE: as Ringside's BootSetup */
    mov %eax, %cr0
    lgdt gdtr
    ljmp $KERNEL_CODE, $entry64

    .text
    .code64
entry64:
    mov $USER_DATA, %ax           /* DS, ES, FS, GS as the guest ABI says; SS is the kernel's until the iret */
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov $KERNEL_DATA, %ax
    mov %ax, %ss
    test %esi, %esi
    jnz ap_entry64
    mov $kernel_stack_top, %rsp
    mov $TSS_SELECTOR, %ax
    ltr %ax
    lidt idtr
    mov mb_info_address, %edi     /* loader_main(multiboot info) at CPL 3, interrupts off */
    push $USER_DATA
    push $loader_stack_top
    push $0x2                     /* RFLAGS: IF = 0, IOPL 0 (the I/O bitmap decides) */
    push $USER_CODE
    push $loader_main
    iretq

/*
 * #GP: the frame doorbell (`out %eax, (%dx)` with DX = 0xF0, or `out %eax, $0xF0`) or a
 * real fault. Frame from CPL 3: error code, RIP, CS, RFLAGS, RSP, SS.
 */
    .globl isr_gp
isr_gp:
    push %rax
    mov 16(%rsp), %rax            /* the faulting RIP */
    cmpb $0xEF, (%rax)
    jne 1f
    cmp $ABI_PORT_DOORBELL, %dx
    jne gp_fault
    incq 16(%rsp)                 /* skip the one-byte out */
    jmp doorbell
1:  cmpw $(0xE7 | (ABI_PORT_DOORBELL << 8)), (%rax)
    jne gp_fault
    addq $2, 16(%rsp)
doorbell:
    push %rcx
    str %ecx                      /* this vCPU's TSS selector: 0x28 + 16 * index */
    sub $TSS_SELECTOR, %ecx
    shr $1, %ecx                  /* 8 * index */
    incq ABI_COUNTERS_FRAMES0(%rcx)
    mov STATE(RSQ_OFF_STOP_FRAME), %rax
    cmp ABI_COUNTERS_FRAMES0(%rcx), %rax
    je stop
    cmpq $0, STATE(RSQ_OFF_PERIOD_NS)
    je 3f
2:  mov STATE(RSQ_OFF_TICK), %rax /* hold until a tick after this vCPU's last release */
    cmp STATE(RSQ_OFF_RELEASED)(%rcx), %rax
    jne 4f
    sti                           /* sti; hlt: the tick cannot slip in between */
    hlt
    cli
    jmp 2b
4:  mov %rax, STATE(RSQ_OFF_RELEASED)(%rcx)
    mov %rax, ABI_COUNTERS_TICK
    imul STATE(RSQ_OFF_PERIOD_NS), %rax
    mov %rax, ABI_COUNTERS_UPTIME /* the tick clock */
3:  pop %rcx
    pop %rax
    add $8, %rsp                  /* the error code */
    iretq

stop:                             /* --frames N: frame N stays in this vCPU's band */
    lock incl STATE(RSQ_OFF_STOPPED_CPUS)
    mov STATE(RSQ_OFF_STOPPED_CPUS), %eax
    cmp STATE(RSQ_OFF_CPU_COUNT), %eax
    jne 6f
    movl $RSQ_STOPPED, STATE(RSQ_OFF_STATE) /* the last vCPU: no more ticks are needed */
    mov $0xFF, %al
    out %al, $0x21
5:  cli
    hlt
    jmp 5b
6:  sti                           /* vCPU 0 goes on relaying ticks to a vCPU still drawing */
    hlt
    jmp 6b

gp_fault:                         /* RAX saved at (%rsp), the faulting RIP in RAX */
    cmpb $0xEE, (%rax)            /* `out %al, (%dx)` from the loader: start the guest */
    jne 8f
    cmpl $RSQ_LOADING, STATE(RSQ_OFF_STATE)
    jne 8f
    pop %rax
    add $8, %rsp
    jmp enter_guest
8:  pop %rax
    push $13
    jmp crash

/* The pacing timer (PIT channel 0 through the PIC, vector 0x20). */
    .globl isr_timer
isr_timer:
    incq STATE(RSQ_OFF_TICK)
    push %rax
    mov $0x20, %al                /* end of interrupt */
    out %al, $0x20
    cmpl $1, STATE(RSQ_OFF_CPU_COUNT)
    je 1f
    mov $APIC_BASE, %eax          /* relay the tick to vCPU 1 (APIC ID 1), which the PIC does not reach */
    movl $(1 << 24), 0x310(%rax)
    movl $AP_TICK, 0x300(%rax)
1:  pop %rax
    iretq

/* vCPU 1's relayed tick: it only wakes a held doorbell, which reads the tick itself. */
    .globl isr_ap_tick
isr_ap_tick:
    push %rax
    mov $APIC_BASE, %eax
    movl $0, 0xB0(%rax)           /* end of interrupt */
    pop %rax
    iretq

/*
 * vCPU 1 (with cpus=2): the loader copies ap_trampoline to RSQ_AP_TRAMPOLINE and starts
 * vCPU 1 there with INIT-SIPI-SIPI once the guest is loaded. Real mode (CS = the page), to
 * protected mode with the stub's GDT, then entry32's way to long mode, then straight into
 * the guest with its own TSS, kernel stack and boot info. About 40 emulated instructions once.
 */
    .code16
    .globl ap_trampoline, ap_trampoline_end
ap_trampoline:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lgdtl ap_gdtr - ap_trampoline /* the copy's own pointer, DS-relative */
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $CODE32, $ap_entry32
    .balign 8
ap_gdtr:
    .word gdt_end - gdt - 1
    .long gdt
ap_trampoline_end:

    .code32
ap_entry32:
    mov $KERNEL_DATA, %ax
    mov %ax, %ds
    mov $1, %esi
    jmp long_mode

    .code64
ap_entry64:                       /* SS and the data segments are set */
    mov $kernel_stack1_top, %rsp
    mov $(TSS_SELECTOR + 16), %ax
    ltr %ax
    lidt idtr
    mov $APIC_BASE, %eax
    movl $0x1FF, 0xF0(%rax)       /* its local APIC on (spurious vector 0xFF), for the relayed tick */
    push $USER_DATA
    push $(ABI_STACKS_TOP - ABI_STACK_SIZE - 8)
    push $0x202                   /* IF; IOPL 0 */
    push $USER_CODE
    push STATE(RSQ_OFF_ENTRY)
    mov $(ABI_BOOT_INFO + ABI_BOOT_INFO_STRIDE), %edi
    xor %eax, %eax                /* every other register zero, as the ABI says */
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    iretq

/* Enters the guest at CPL 3 with interrupts on, from the loader's frame (RIP on top). */
enter_guest:
    movl $RSQ_RUNNING, STATE(RSQ_OFF_STATE)
    mov STATE(RSQ_OFF_ENTRY), %rax
    mov %rax, (%rsp)
    mov STATE(RSQ_OFF_STACK), %rax
    mov %rax, 24(%rsp)
    movq $0x202, 16(%rsp)         /* IF; IOPL 0 */
    xor %eax, %eax
    xor %edx, %edx
    iretq

/* start_guest(boot info): the loader's last call. Every register but RDI zero, as the ABI says
   (enter_guest clears RAX and RDX). */
    .globl start_guest
start_guest:
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %esi, %esi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    mov $ABI_PORT_DOORBELL, %edx  /* a byte `out` to the closed doorbell port: isr_gp starts */
    out %al, (%dx)                /* the guest while the state says RSQ_LOADING (int $n is */
    ud2                           /* refused at CPL 3 on PVM hosts); not reached */

/* Exceptions the guest can cause; any other vector ends up as #DF (its gate is absent). */
    .globl isr_ud, isr_df, isr_pf
isr_ud:
    push $0
    push $6
    jmp crash
isr_df:
    push $8
    jmp crash
isr_pf:
    push $14
/* [rsp] vector, [rsp+8] error code, [rsp+16] RIP: recorded for the host, then halt for good. */
crash:
    popq STATE(RSQ_OFF_VECTOR)
    popq STATE(RSQ_OFF_ERROR)
    push %rax
    mov 8(%rsp), %rax
    mov %rax, STATE(RSQ_OFF_RIP)
    mov %cr2, %rax
    mov %rax, STATE(RSQ_OFF_CR2)
    movl $RSQ_CRASHED, STATE(RSQ_OFF_STATE)
7:  cli
    hlt
    jmp 7b

/* Descriptor tables: Ringside's selectors (Sources/Machine/BootSetup.swift). */
    .data
    .balign 16
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF      /* 0x08 kernel code, 64-bit */
    .quad 0x00CF92000000FFFF      /* 0x10 kernel data */
    .quad 0x00CFF2000000FFFF      /* 0x18 user data, DPL 3 */
    .quad 0x00AFFA000000FFFF      /* 0x20 user code, DPL 3, 64-bit */
    .word tss_limit, tss_base_0_15 /* 0x28 vCPU 0's TSS (16 bytes) */
    .byte tss_base_16_23, 0x89, 0, tss_base_24_31
    .long 0, 0
    .globl gdt_tss1
gdt_tss1:
    .quad 0, 0                    /* 0x38 vCPU 1's TSS: the loader fills it (cpus=2) */
    .quad 0x00CF9A000000FFFF      /* 0x48 32-bit code, for vCPU 1's start */
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt                     /* lgdt in 32-bit mode reads the low 4 bytes */

.macro gate vector, handler, dpl
    .org idt + \vector * 16
    .word \handler\()_0_15, KERNEL_CODE
    .byte 0, 0x8E | (\dpl << 5)   /* present 64-bit interrupt gate */
    .word \handler\()_16_31
    .long 0, 0
.endm
    .balign 16
idt:
    gate 6, isr_ud, 0
    gate 8, isr_df, 0
    gate 13, isr_gp, 0
    gate 14, isr_pf, 0
    gate 0x20, isr_timer, 0
    gate 0x21, isr_ap_tick, 0
idt_end:
idtr:
    .word idt_end - idt - 1
    .quad idt

/*
 * TSS with an I/O permission bitmap for ports 0 ... 0xCFF (a set bit denies a port; ports
 * past the end are denied). All open while the loader runs (PIC, PIT, PCI configuration,
 * DISPI, console); the loader then closes every port but the guest's (loader.c,
 * guest_ports). The doorbell 0xF0 stays closed, so it faults to isr_gp.
 */
    .balign 16
    .globl tss, iomap, iomap_end
tss:
    .long 0
    .quad kernel_stack_top        /* RSP0: the stack for interrupts from CPL 3 */
    .fill 90, 1, 0
    .word iomap - tss             /* I/O map base */
iomap:
    .fill 0xD00 / 8, 1, 0
iomap_end:
    .byte 0xFF                    /* the bitmap's terminating byte */
    .set tss_limit, iomap_end - tss
    .globl tss_limit

/*
 * Page tables: the first GiB identity-mapped with user-writable 2 MiB pages (static);
 * loader.c adds RAM above 1 GiB and the framebuffer at RS_GPA_FRAMEBUFFER.
 */
    .balign 4096
    .globl pml4, pdpt, pd_low
pml4:
    .quad pdpt + 7
    .fill 511, 8, 0
pdpt:
    .quad pd_low + 7
    .fill 511, 8, 0
pd_low:
    .set page, 0
    .rept 512
    .quad page | 0x87             /* present, writable, user, 2 MiB */
    .set page, page + 0x200000
    .endr

mb_info_address:
    .long 0

    .bss
    .balign 4096
    .globl pd_ram, pd_framebuffer
pd_ram:                           /* page directories for RAM from 1 GiB up */
    .fill RSQ_RAM_PAGE_DIRS * 4096, 1, 0
pd_framebuffer:
    .fill 4096, 1, 0
    .fill 4096, 1, 0              /* vCPU 0's CPL-0 stack */
kernel_stack_top:
    .fill 4096, 1, 0              /* vCPU 1's */
kernel_stack1_top:
    .globl tss1, kernel_stack1_top
tss1:                             /* vCPU 1's TSS: the loader copies vCPU 0's there (cpus=2) */
    .fill 0x100 + 0xD00 / 8, 1, 0
    .fill 16384, 1, 0             /* the loader's stack */
loader_stack_top:
