/* The input queue's consumer side (assets/guests/README.md, "Input"): the VMM publishes
 * `head` with a release store; we load it with acquire, read the events up to it, then
 * publish `tail` with a release store. vCPU 0 only. */
#include <stdio.h>
#include "internal.h"

extern const char rs_program_name[];

enum { QUEUE_UNCHECKED, QUEUE_USABLE, QUEUE_ABSENT };
static int queue_state = QUEUE_UNCHECKED;

static volatile struct rs_input_queue *queue(void) {
    return (volatile struct rs_input_queue *)(uintptr_t)rs_boot->input_queue_gpa;
}

static int check_queue(void) {
    if (queue_state != QUEUE_UNCHECKED) return queue_state == QUEUE_USABLE;
    queue_state = QUEUE_ABSENT;
    if (rs_boot->version < 2) return 0;
    uint64_t gpa = rs_boot->input_queue_gpa;
    if (gpa < 0x1000 || gpa + sizeof(struct rs_input_queue) > RS_IMAGE_BASE || (gpa & 0xFFF)) {
        printf("%s: warning: no input queue at 0x%llx (input ignored)\n", rs_program_name, (unsigned long long)gpa);
        return 0;
    }
    volatile struct rs_input_queue *q = queue();
    if (q->magic != RS_INPUT_QUEUE_MAGIC || q->capacity != RS_INPUT_QUEUE_EVENTS) {
        printf("%s: warning: no input queue at 0x%llx (input ignored)\n", rs_program_name, (unsigned long long)gpa);
        return 0;
    }
    q->guest_flags |= RS_GUEST_READS_INPUT;
    queue_state = QUEUE_USABLE;
    return 1;
}

void rs_input_set_flags(uint32_t flags) {
    if (check_queue()) queue()->guest_flags |= flags;
}

int rs_input_next(struct rs_input_event *event) {
    if (!check_queue()) return -1;
    volatile struct rs_input_queue *q = queue();
    uint32_t head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
    uint32_t tail = q->tail;
    if (head == tail) return 0;
    if (head - tail > RS_INPUT_QUEUE_EVENTS) {
        static int warned;
        if (!warned) {
            warned = 1;
            printf("%s: warning: input queue head %u is more than a queue ahead of tail %u (ignored until the VMM publishes a valid head)\n",
                   rs_program_name, head, tail);
        }
        return 0;
    }
    const volatile struct rs_input_event *e = &q->events[tail % RS_INPUT_QUEUE_EVENTS];
    event->type = e->type;
    event->code = e->code;
    event->value = e->value;
    event->x = e->x;
    event->y = e->y;
    __atomic_store_n(&q->tail, tail + 1, __ATOMIC_RELEASE);
    return 1;
}
