mod admin;
mod lifecycle;
mod query;
mod remote_write;
mod series;
mod status;
mod support;
