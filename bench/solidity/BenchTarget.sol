// SPDX-License-Identifier: AGPL-3.0-only
pragma solidity 0.8.28;

/// @title The action every benchmarked proposal executes (gas benchmark only)
/// @notice Stands in for "change one protocol parameter": it starts at 1 like a parameter that already has a
///         value, so `setValue` is one non-zero to non-zero storage write plus an event. The OZ and Club
///         governors execute the same call on their own, freshly deployed copy.
contract BenchTarget {
    uint256 public value = 1;

    event ValueSet(uint256 value);

    function setValue(uint256 newValue) external {
        value = newValue;
        emit ValueSet(newValue);
    }
}
