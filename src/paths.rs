//! Turning a manifest name into the path that is opened, and refusing names that leave
//! the root.
//!
//! Names are resolved lexically, as Go's `path.Join` did: `.` and empty components are
//! dropped and `a/..` cancels out before the kernel sees the path, so `..` never walks
//! up through a symlink. A name that is absolute, or whose `..` would climb above the
//! root, is outside the root and is never opened.

use std::borrow::Cow;

/// The name is absolute or climbs out of the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutsideRoot;

/// The cleaned, root-relative form of `name`: borrowed when it is already clean (the
/// common case, no allocation). An empty result names the root itself. A trailing `/`
/// is kept, so `file/` still fails as GNU's open of it does.
pub fn resolve(name: &[u8]) -> Result<Cow<'_, [u8]>, OutsideRoot> {
    if name.first() == Some(&b'/') {
        return Err(OutsideRoot);
    }
    let is_clean = name
        .split(|&b| b == b'/')
        .enumerate()
        .all(|(i, part)| !(part == b"." || part == b".." || (part.is_empty() && i > 0)));
    if is_clean && !name.ends_with(b"/") {
        return Ok(Cow::Borrowed(name));
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
    let mut clean = parts.join(&b'/');
    if name.ends_with(b"/") && !clean.is_empty() {
        clean.push(b'/');
    }
    Ok(Cow::Owned(clean))
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
            (b"a/../b", b"b"),
            (b"a/b/../../c", b"c"),
            (b"a/", b"a/"),
            (b".", b""),
            (b"a/..", b""),
            (b"...", b"..."),
            (b"..a", b"..a"),
            (b" a ", b" a "),
        ];
        for (name, clean) in cases {
            assert_eq!(
                resolve(name).as_deref(),
                Ok(*clean),
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
        ];
        for name in cases {
            assert_eq!(
                resolve(name),
                Err(OutsideRoot),
                "{:?}",
                String::from_utf8_lossy(name)
            );
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
