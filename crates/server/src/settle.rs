//! No answer carries what a power cut could still take back.
//!
//! The writer opens the visibility gate once a batch is committed and in the engine, before the
//! batch's fsync ends, so that its next commit need not wait for the disk (`writer/mod.rs`).
//! A reader of the engine may therefore see a batch that is not durable yet. Each request runs
//! with a mark of the last commit it could have seen ([`saw_commits`], called by
//! [`crate::app::Shared::engine`]), and its answer waits until that commit is durable
//! ([`settled`]). Requests that never read the engine (ingestion) do not wait for anyone
//! else's fsync; storage reads wait on their own (`steward_store::durable`).

use std::cell::Cell;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;

tokio::task_local! {
    /// The highest commit mark ([`steward_store::Store::commit_mark`]) the request saw.
    static SEEN: Cell<u64>;
}

/// Notes that the current request read state holding every commit up to `mark`. Outside a
/// request (the writer, start-up, tests calling the engine directly) there is nothing to hold.
pub(crate) fn saw_commits(mark: u64) {
    let _ = SEEN.try_with(|seen| seen.set(seen.get().max(mark)));
}

/// Middleware: runs the request, then holds its answer until what it saw is durable.
pub(crate) async fn settled(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (response, seen) = noting_commits(next.run(request)).await;
    state.store.durable_through(seen).await;
    response
}

/// Runs `work`, answering with its output and the highest mark it noted.
async fn noting_commits<T>(work: impl Future<Output = T>) -> (T, u64) {
    SEEN.scope(Cell::new(0), async {
        let out = work.await;
        (out, SEEN.with(Cell::get))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_holds_the_highest_mark_it_saw() {
        let ((), seen) = noting_commits(async {
            saw_commits(3);
            tokio::task::yield_now().await;
            saw_commits(2);
        })
        .await;
        assert_eq!(seen, 3);
    }

    #[tokio::test]
    async fn a_request_that_saw_nothing_waits_for_nothing() {
        let ((), seen) = noting_commits(async {}).await;
        assert_eq!(seen, 0);
        // Outside any request, noting is harmless.
        saw_commits(7);
    }

    #[tokio::test]
    async fn requests_do_not_share_marks() {
        let (a, b) = tokio::join!(
            noting_commits(async { saw_commits(5) }),
            noting_commits(async { saw_commits(1) })
        );
        assert_eq!((a.1, b.1), (5, 1));
    }
}
