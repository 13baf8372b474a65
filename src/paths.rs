//! Turning a manifest name into the name that is opened under the root, and refusing
//! names that leave the root.
//!
//! A name is looked up by the kernel as it is written, relative to the root, exactly as
//! GNU `sha1sum -c` run in the root looks it up: `x/.` and `x/../y` need `x` to be a
//! directory, so neither can reach the regular file `x` (a lexical clean-up would have
//! turned `x/.` into `x` and said OK for a line GNU fails). Before that, a name that is
//! absolute, or whose `..` components climb above the root counting lexically, is
//! outside the root and is never opened. Symlinks inside the root are followed, as GNU
//! follows them.

use std::borrow::Cow;

/// The name is absolute or climbs out of the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutsideRoot;

/// The name to open under the root for `name`, and the key that tells which names are
/// one file: `name` without its `.` components and repeated slashes, which the kernel
/// skips anyway, so `a`, `./a` and `a//./a`... are one file, hashed once. Borrowed
/// when `name` is already in that form (the common case, no allocation).
///
/// What changes the meaning is kept: `..` components (`x/../y` needs `x` to be a
/// directory), and a final `/`, also for a final `/.` (`x/` and `x/.` both need `x` to
/// be a directory, so they fail on a regular file as they fail for GNU). An empty
/// result names the root itself.
pub fn lookup_name(name: &[u8]) -> Result<Cow<'_, [u8]>, OutsideRoot> {
    if name.first() == Some(&b'/') {
        return Err(OutsideRoot);
    }
    let mut depth = 0usize;
    let mut needs_rewrite = false;
    let parts = name.split(|&b| b == b'/');
    let count = name.iter().filter(|&&b| b == b'/').count() + 1;
    for (i, part) in parts.enumerate() {
        let last = i + 1 == count;
        match part {
            b".." => depth = depth.checked_sub(1).ok_or(OutsideRoot)?,
            // A trailing slash is kept as it is; any other empty or `.` part goes.
            b"" if last && i > 0 => {}
            b"" | b"." => needs_rewrite = true,
            _ => depth += 1,
        }
    }
    if !needs_rewrite {
        return Ok(Cow::Borrowed(name));
    }
    let ends_in_directory = matches!(name.rsplit(|&b| b == b'/').next(), Some(b"" | b"."));
    let mut kept: Vec<&[u8]> = name
        .split(|&b| b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .collect();
    if ends_in_directory && !kept.is_empty() {
        // `x/.` and `x/` open as `x/`: only a directory (or a link to one) passes.
        kept.push(b"");
    }
    Ok(Cow::Owned(kept.join(&b'/')))
}

/// The lexically cleaned form of `name` (Go's `path.Join`): `.`, empty components and
/// `a/..` pairs dropped. For naming a file that is written, not looked up: the
/// manifest that manifest creation writes, so that the walk leaves it out however its
/// name is spelled.
pub fn lexical_clean(name: &[u8]) -> Result<Vec<u8>, OutsideRoot> {
    if name.first() == Some(&b'/') {
        return Err(OutsideRoot);
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop().ok_or(OutsideRoot)?;
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join(&b'/'))
}

/// `root` joined with `name` for messages: the name as written, one `/` between. An
/// absolute name is shown alone: it was never looked for under the root.
pub fn display_join(root: &[u8], name: &[u8]) -> Vec<u8> {
    if name.starts_with(b"/") {
        return name.to_vec();
    }
    let mut path = Vec::with_capacity(root.len() + 1 + name.len());
    path.extend_from_slice(root);
    if !root.is_empty() && !root.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_inside_the_root() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a", b"a"),
            (b"a/b", b"a/b"),
            (b"./a", b"a"),
            (b"a//b", b"a/b"),
            (b"a/./b", b"a/b"),
            (b"././a", b"a"),
            // `..` is left to the kernel: `a` must be a directory, as for GNU.
            (b"a/../b", b"a/../b"),
            (b"a/b/../../c", b"a/b/../../c"),
            (b"./a/../b", b"a/../b"),
            (b"a/..", b"a/.."),
            // A final `/` or `/.` needs a directory: never a regular file.
            (b"a/", b"a/"),
            (b"a/.", b"a/"),
            (b"a//", b"a/"),
            (b"a/./", b"a/"),
            (b"./a/.", b"a/"),
            (b".", b""),
            (b"./", b""),
            (b"...", b"..."),
            (b"..a", b"..a"),
            (b"a..", b"a.."),
            (b" a ", b" a "),
            (b" ./a", b" ./a"),
        ];
        for (name, key) in cases {
            assert_eq!(
                lookup_name(name).as_deref(),
                Ok(*key),
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn names_outside_the_root() {
        let cases: &[&[u8]] = &[
            b"/etc/passwd",
            b"..",
            b"../x",
            b"a/../../x",
            b"./../x",
            b"//x",
            b"a/../..",
            b"a/./../../x",
        ];
        for name in cases {
            assert_eq!(
                lookup_name(name),
                Err(OutsideRoot),
                "{:?}",
                String::from_utf8_lossy(name)
            );
            assert_eq!(lexical_clean(name), Err(OutsideRoot));
        }
    }

    #[test]
    fn lexically_clean_names() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"sha1sum.txt", b"sha1sum.txt"),
            (b"./sha1sum.txt", b"sha1sum.txt"),
            (b"sub/../sha1sum.txt", b"sha1sum.txt"),
            (b"a//b/", b"a/b"),
        ];
        for (name, clean) in cases {
            assert_eq!(lexical_clean(name).as_deref(), Ok(*clean));
        }
    }

    #[test]
    fn display_paths() {
        assert_eq!(display_join(b"/data", b"a.log"), b"/data/a.log");
        assert_eq!(display_join(b"/data/", b"a.log"), b"/data/a.log");
        assert_eq!(display_join(b"/", b"a"), b"/a");
        assert_eq!(display_join(b"d", b"./x"), b"d/./x");
        assert_eq!(display_join(b"/data", b"/etc/passwd"), b"/etc/passwd");
    }
}
