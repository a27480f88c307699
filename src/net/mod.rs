//! What berth serves on the network besides the AWS APIs.
//!
//! - [`metadata`]: the task metadata endpoint (v4, v3) and the container credentials endpoint,
//!   served to task containers at 169.254.170.2 as the ECS agent does.

pub mod metadata;
