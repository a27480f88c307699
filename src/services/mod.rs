//! Every AWS service berth speaks, one folder (or file) each, and the table that puts them
//! behind the one port.

pub mod ecs;
pub mod logs;
pub mod sts;
pub mod table;
