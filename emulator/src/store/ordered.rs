//! A map that keeps insertion order and finds items by id in O(1), so list pages are
//! stable across requests and lookups stay cheap at 10,000 objects.

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub(crate) struct Ordered<T> {
    items: BTreeMap<u64, T>,
    seq: HashMap<String, u64>,
    next: u64,
}

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered {
            items: BTreeMap::new(),
            seq: HashMap::new(),
            next: 0,
        }
    }
}

impl<T> Ordered<T> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.seq.contains_key(id)
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.seq.get(id).and_then(|s| self.items.get(s))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let s = *self.seq.get(id)?;
        self.items.get_mut(&s)
    }

    /// Inserts a new item at the end, or replaces an existing one in place.
    pub fn insert(&mut self, id: String, value: T) {
        match self.seq.get(&id) {
            Some(s) => {
                self.items.insert(*s, value);
            }
            None => {
                let s = self.next;
                self.next += 1;
                self.seq.insert(id, s);
                self.items.insert(s, value);
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let s = self.seq.remove(id)?;
        self.items.remove(&s)
    }

    /// Items in insertion order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.items.values()
    }
}

#[cfg(test)]
mod tests {
    use super::Ordered;

    #[test]
    fn keeps_insertion_order_and_replaces_in_place() {
        let mut o = Ordered::default();
        o.insert("b".to_string(), 1);
        o.insert("a".to_string(), 2);
        o.insert("c".to_string(), 3);
        o.insert("a".to_string(), 20);
        assert_eq!(o.values().copied().collect::<Vec<_>>(), vec![1, 20, 3]);
        assert_eq!(o.remove("b"), Some(1));
        assert_eq!(o.get("a"), Some(&20));
        assert!(!o.contains("b"));
        o.insert("b".to_string(), 4);
        assert_eq!(o.values().copied().collect::<Vec<_>>(), vec![20, 3, 4]);
        assert_eq!(o.len(), 3);
    }
}
