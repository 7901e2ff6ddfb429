//! Placing our policies among everyone else's attachments.

use super::*;

/// Edits an application's attachment list so our ids (`wanted`) are attached in list
/// order; entries we manage (`previous` ∪ `wanted`) are the only ones touched, every
/// other entry keeps its id and precedence. Returns whether anything changed.
///
/// Our attached policies already in list order are left exactly where they are,
/// whatever their precedences (a policy removed from the list is only detached): an
/// application whose own policies sit at 1 and 3 around someone else's at 2 is as the
/// list asks.
/// Otherwise ours take, in list order, the lowest precedences no other entry holds
/// (1, 2, … when we are alone): never a precedence another policy holds, so nobody
/// else's policy is moved, renumbered or refused.
pub fn reconcile_attachments(
    links: &mut Vec<PolicyLink>,
    previous: &[String],
    wanted: &[String],
) -> bool {
    let managed: HashSet<&str> = previous
        .iter()
        .chain(wanted.iter())
        .map(String::as_str)
        .collect();
    let wanted_set: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    let mut ours: Vec<(usize, &PolicyLink)> = links
        .iter()
        .enumerate()
        .filter(|(_, l)| wanted_set.contains(l.id.as_str()))
        .collect();
    ours.sort_by(|(ia, a), (ib, b)| a.precedence.cmp(&b.precedence).then(ia.cmp(ib)));
    let stale = links
        .iter()
        .any(|l| managed.contains(l.id.as_str()) && !wanted_set.contains(l.id.as_str()));
    if ours.iter().map(|(_, l)| &l.id).eq(wanted.iter()) {
        // Ours are where the list wants them: at most a removed one to detach.
        links.retain(|l| !managed.contains(l.id.as_str()) || wanted_set.contains(l.id.as_str()));
        return stale;
    }
    let mut next: Vec<PolicyLink> = links
        .iter()
        .filter(|l| !managed.contains(l.id.as_str()))
        .cloned()
        .collect();
    let held: HashSet<u32> = next.iter().map(|l| l.precedence).collect();
    let mut precedence = 0u32;
    for id in wanted {
        precedence = precedence.saturating_add(1);
        while held.contains(&precedence) && precedence < u32::MAX {
            precedence += 1;
        }
        next.push(PolicyLink {
            id: PolicyId::new_unchecked(id.as_str()),
            precedence,
        });
    }
    let sorted = |v: &[PolicyLink]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let changed = sorted(&next) != sorted(links);
    next.sort_by(|a, b| {
        a.precedence
            .cmp(&b.precedence)
            .then_with(|| a.id.cmp(&b.id))
    });
    *links = next;
    changed
}
