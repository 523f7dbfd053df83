//! Hard limits that keep hostile input from exhausting the stack or the CPU.

/// Longest accepted source text, in bytes.
pub const MAX_INPUT_LEN: usize = 16 * 1024;

/// Deepest accepted nesting. Every pass over the tree recurses, so this bounds
/// their stack use; parentheses count as a level while parsing.
pub const MAX_DEPTH: usize = 64;
