// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.11 <0.9.0;

/// The HelloWorld contract of the FISCO BCOS 3.x documentation (quick start), with the pragma and
/// constructor visibility adapted to solc 0.8; used by the devnode acceptance tests.
contract HelloWorld {
    string name;

    constructor() {
        name = "Hello, World!";
    }

    function get() public view returns (string memory) {
        return name;
    }

    function set(string memory n) public {
        name = n;
    }
}
