//! The tree rule shared by customers, categories and regions: a row may not become its own
//! parent, nor the parent of one of its ancestors (that would close a cycle).

/// Checks that `parent` may become the parent of `child`.
///
/// `parent_ancestors` lists the ancestors of `parent`, nearest first, as stored now.
/// Returns `false` when the link would make `child` its own ancestor.
#[must_use]
pub fn may_link<Id: PartialEq>(child: &Id, parent: &Id, parent_ancestors: &[Id]) -> bool {
    child != parent && !parent_ancestors.contains(child)
}

#[cfg(test)]
mod tests {
    use super::may_link;

    #[test]
    fn refuses_self_and_cycles() {
        assert!(!may_link(&1, &1, &[]), "self-parent");
        // 1 <- 2 <- 3: making 3 the parent of 1 closes the loop.
        assert!(!may_link(&1, &3, &[2, 1]));
        assert!(may_link(&3, &1, &[]));
        assert!(may_link(&4, &3, &[2, 1]));
    }
}
