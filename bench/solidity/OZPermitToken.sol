// SPDX-License-Identifier: AGPL-3.0-only
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title Plain OpenZeppelin 5 ERC20 + ERC20Permit baseline (gas benchmark only)
/// @notice What an ERC-20 without votes costs: the floor ClubToken aims for when nobody delegates.
///         ERC20Burnable and a deployer-only mint as in the votes baseline.
contract OZPermitToken is ERC20, ERC20Permit, ERC20Burnable {
    address private immutable MINTER;

    constructor(string memory name_, string memory symbol_, string memory eip712Name)
        ERC20(name_, symbol_)
        ERC20Permit(eip712Name)
    {
        MINTER = msg.sender;
    }

    function mint(address owner, uint256 amount) external {
        require(msg.sender == MINTER, "OZPermitToken: not the minter");
        _mint(owner, amount);
    }
}
