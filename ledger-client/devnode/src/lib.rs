//! bcos-devnode
