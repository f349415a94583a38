//! [`Shared`]: a vector several models can hold at once without copying it.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A `Vec<T>` behind an [`Arc`]: [`Clone`] shares it, and mutable access copies it first if
/// it is shared (copy on write), so a holder never sees another's changes. It reads and
/// writes like the `Vec` it derefs to.
///
/// A model built from another that differs only in its policies (a proposed policy set)
/// shares the other's pods and workloads this way: at 150,000 pods each copy was hundreds
/// of MB.
///
/// ```
/// use palisade_model::Shared;
///
/// let a: Shared<u32> = vec![1, 2].into();
/// let mut b = a.clone();
/// assert!(Shared::ptr_eq(&a, &b));
/// b.push(3);
/// assert_eq!((a.len(), b.len()), (2, 3));
/// assert!(!Shared::ptr_eq(&a, &b));
/// ```
pub struct Shared<T>(Arc<Vec<T>>);

impl<T> Shared<T> {
    /// Whether `a` and `b` hold the same vector (not a copy).
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared(Arc::new(Vec::new()))
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Self {
        Shared(Arc::new(v))
    }
}

impl<T> FromIterator<T> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Shared(Arc::new(iter.into_iter().collect()))
    }
}

impl<T> Deref for Shared<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }
}

impl<'a, T> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut Shared<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        Arc::make_mut(&mut self.0).iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_copy_a_shared_vector_first() {
        let a: Shared<String> = vec!["x".to_string()].into();
        let mut b = a.clone();
        b[0].push('y');
        assert_eq!((a[0].as_str(), b[0].as_str()), ("x", "xy"));
        let mut c = b.clone();
        for s in &mut c {
            s.push('z');
        }
        assert_eq!((b[0].as_str(), c[0].as_str()), ("xy", "xyz"));
        // Not shared: written in place.
        let before = c.as_ptr();
        c[0].push('!');
        assert_eq!(c.as_ptr(), before);
        assert_eq!(a, vec!["x".to_string()].into());
    }
}
