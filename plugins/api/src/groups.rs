//! Commit group sizes: how many commits a plugin's group commit put in one
//! transaction, for the server's metrics.
//!
//! Owns: [`GroupSizes`] (cumulative counts over the fixed bounds
//! [`GROUP_SIZE_BOUNDS`], with the sum and count, as a Prometheus histogram
//! reads them) and [`GroupSizeCounter`], the lock-free recorder a plugin
//! keeps. Invariants: `buckets[i]` counts the groups of at most
//! `GROUP_SIZE_BOUNDS[i]` commits, so the counts never decrease along the
//! bounds and none exceeds `count` (the `+Inf` bucket); recording is a
//! few relaxed atomic adds and never blocks a commit.

use std::sync::atomic::{AtomicU64, Ordering};

/// The upper bounds of the group-size buckets (commits per group).
pub const GROUP_SIZE_BOUNDS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// Cumulative counts of commit group sizes since the plugin opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupSizes {
    /// `buckets[i]`: groups of at most `GROUP_SIZE_BOUNDS[i]` commits.
    pub buckets: [u64; GROUP_SIZE_BOUNDS.len()],
    /// Commits in all groups.
    pub sum: u64,
    /// Groups (the `+Inf` bucket).
    pub count: u64,
}

impl GroupSizes {
    /// Both counts together (a plugin with two queues reports one histogram).
    #[must_use]
    pub fn merged(mut self, other: &GroupSizes) -> GroupSizes {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
        self
    }
}

/// Records group sizes; shared by the threads that lead groups.
#[derive(Debug, Default)]
pub struct GroupSizeCounter {
    /// Per bucket, groups whose size falls in it (not cumulative).
    exact: [AtomicU64; GROUP_SIZE_BOUNDS.len()],
    sum: AtomicU64,
    count: AtomicU64,
}

impl GroupSizeCounter {
    /// Counts one group of `size` commits.
    pub fn record(&self, size: usize) {
        let size = size as u64;
        if let Some(i) = GROUP_SIZE_BOUNDS.iter().position(|b| size <= *b) {
            self.exact[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(size, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far, cumulative.
    pub fn snapshot(&self) -> GroupSizes {
        let count = self.count.load(Ordering::Relaxed);
        let mut buckets = [0; GROUP_SIZE_BOUNDS.len()];
        let mut total = 0;
        for (out, n) in buckets.iter_mut().zip(&self.exact) {
            total += n.load(Ordering::Relaxed);
            // Read apart from `count`: a group recorded meanwhile must not
            // make a bucket larger than `+Inf`.
            *out = total.min(count);
        }
        GroupSizes {
            buckets,
            sum: self.sum.load(Ordering::Relaxed),
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_land_in_cumulative_buckets() {
        let c = GroupSizeCounter::default();
        for size in [1, 1, 2, 3, 64, 600] {
            c.record(size);
        }
        let s = c.snapshot();
        assert_eq!(s.count, 6);
        assert_eq!(s.sum, 671);
        assert_eq!(s.buckets, [2, 3, 4, 4, 4, 4, 5, 5, 5, 5]);
        let both = s.merged(&s);
        assert_eq!((both.count, both.sum, both.buckets[0]), (12, 1342, 4));
    }
}
