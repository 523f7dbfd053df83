//! Outcome.changes describe exactly what storage did: an engine fed only those changes equals
//! one rebuilt from storage with `load_engine`, after every batch of a long random workload.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use steward_engine::Engine;
use steward_store::test_support::backends;

use crate::model::{Batch, apply_batch, batch};
use crate::support::*;

fn workload(seed: u8, batches: usize) -> Vec<Batch> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = proptest::collection::vec(batch(3), batches);
    strategy.new_tree(&mut runner).unwrap().current()
}

#[tokio::test]
async fn incremental_engine_equals_rebuilt_engine_after_every_batch() {
    for backend in backends() {
        for seed in [1u8, 2] {
            let (t, ws) = setup(backend).await;
            let s = &t.store;
            let mut engine = Engine::new();
            let mut clock = T0;
            for (n, b) in workload(seed, 40).iter().enumerate() {
                apply_batch(s, &mut engine, ws, &mut clock, b).await;
                assert_engine_matches_store(
                    s,
                    ws,
                    &engine,
                    &format!("{backend:?} seed {seed} batch {n}: {b:?}"),
                )
                .await;
            }
            let g = engine.graph(ws).unwrap();
            assert!(
                g.user_count() + g.account_count() > 0,
                "the workload leaves something behind"
            );
        }
    }
}
