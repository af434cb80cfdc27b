//! The MAC vendor lookup never allocates once the table is parsed: checked with a counting
//! global allocator (its own test binary, so it counts nothing else).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wardwatch_rules::inventory::oui::lookup;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; only counts calls on the current thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn lookup_no_allocation_after_first_call() {
    // After the one-time parse, lookups of every kind (MA-L, MA-M, MA-S, unregistered, local, multicast) allocate nothing.
    let first = lookup([0x00, 0x09, 0xfb, 1, 2, 3]);
    assert!(first.org().is_some(), "table parsed and populated");
    let before = ALLOCS.with(|c| c.get());
    let mut found = 0usize;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..100_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_be_bytes();
        let mac = match i % 4 {
            0 => [0x74, 0x1a, 0xe0, b[0], b[1], b[2]],
            1 => [0x00, 0x1b, 0xc5, 0x07, b[1], b[2]],
            _ => [b[0], b[1], b[2], b[3], b[4], b[5]],
        };
        found += usize::from(lookup(mac).org().is_some());
    }
    let after = ALLOCS.with(|c| c.get());
    assert!(found > 50_000, "lookups found {found} vendors");
    assert_eq!(after - before, 0, "lookups allocated");
}
