//! Heap-size estimates, in the same model as `Graph::heap_bytes`.

/// Heap bytes of a hash table with room for `capacity` entries of `entry` bytes: hashbrown
/// keeps a power-of-two number of buckets at most 7/8 full, plus one control byte a bucket.
pub(crate) fn table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        capacity + 1
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    buckets * (entry + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_up_to_powers_of_two() {
        assert_eq!(table_bytes(0, 10), 0);
        assert_eq!(table_bytes(3, 10), 4 * 11);
        assert_eq!(table_bytes(100_000, 10), 131_072 * 11);
    }
}
