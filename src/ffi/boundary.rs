//! The helpers every export goes through (after rustls-ffi): panics stopped at the
//! boundary, NULL-safe arguments and out-parameters, strings handed out from libc
//! `malloc`.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// Runs `body`, turning a panic into `on_panic`: no unwinding crosses into C.
pub(crate) fn guard<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Copies `bytes` into a NUL-terminated string from libc `malloc`, so that either
/// `checksig_free` or libc `free` may release it. NUL bytes are dropped (a C string
/// cannot hold one).
pub(crate) fn malloc_string(bytes: &[u8]) -> *mut c_char {
    let bytes: Vec<u8> = bytes.iter().copied().filter(|&b| b != 0).collect();
    // SAFETY: malloc returns NULL or a block of at least len + 1 bytes, which is
    // written only within that length.
    unsafe {
        let block = libc::malloc(bytes.len() + 1) as *mut u8;
        if block.is_null() {
            // Returning NULL would read as "every file matched": never do that.
            std::process::abort();
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), block, bytes.len());
        *block.add(bytes.len()) = 0;
        block as *mut c_char
    }
}

/// Bytes without NULs (paths and messages cannot hold one) as a C string.
pub(crate) fn c_string(mut bytes: Vec<u8>) -> CString {
    bytes.retain(|&b| b != 0);
    CString::new(bytes).expect("NUL bytes were removed")
}

/// The bytes of a C string argument, or `None` for NULL.
///
/// # Safety
/// `pointer` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn argument_bytes<'a>(pointer: *const c_char) -> Option<&'a [u8]> {
    if pointer.is_null() {
        None
    } else {
        Some(CStr::from_ptr(pointer).to_bytes())
    }
}

/// Writes what `read` finds into `*out`. False, writing nothing, when `out` is NULL,
/// when `read` finds nothing (a running job, an index out of range), or when it
/// panics.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub(crate) unsafe fn write_out<T>(out: *mut T, read: impl FnOnce() -> Option<T>) -> bool {
    if out.is_null() {
        return false;
    }
    match guard(None, read) {
        Some(value) => {
            *out = value;
            true
        }
        None => false,
    }
}
