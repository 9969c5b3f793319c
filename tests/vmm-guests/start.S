/* SPDX-License-Identifier: Apache-2.0 */
/*
 * start.S - entry of the freestanding test guest. hull-vmm enters an ELF kernel in
 * 64-bit mode with the boot page tables (4 GiB identity-mapped), %rsi = boot_params.
 * Set up a stack and an IDT whose every vector goes to one handler, then call
 * guest_main(boot_params).
 */
        .section .text.start, "ax"
        .globl _start
        .code64
_start:
        cli
        lea     stack_top(%rip), %rsp
        mov     %rsi, %rdi
        call    guest_main
1:      hlt
        jmp     1b

/* Interrupt entry: vectors 0x20..0xff come here through their stubs with the vector pushed. */
        .globl  irq_common
irq_common:
        push    %rax
        push    %rcx
        push    %rdx
        push    %rsi
        push    %rdi
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        mov     72(%rsp), %rdi
        call    guest_irq
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rdi
        pop     %rsi
        pop     %rdx
        pop     %rcx
        pop     %rax
        add     $8, %rsp
        iretq

        .globl  irq_stub_0x40
irq_stub_0x40:
        pushq   $0x40
        jmp     irq_common

        .bss
        .balign 16
        .space  16384
stack_top:
