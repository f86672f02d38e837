// SPDX-License-Identifier: AGPL-3.0-only
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title OpenZeppelin 5 ERC20Votes baseline for ClubToken (gas benchmark only, never deployed for real)
/// @notice The minimal wrapper: ERC20 + ERC20Permit + ERC20Votes with a timestamp clock (ERC-6372
///         "mode=timestamp", as ClubToken), plus ERC20Burnable and a mint for the deployer so that mint and
///         burn can be measured too. Deliberately no AccessControl and no cap: the mint check is an
///         immutable comparison, cheaper than ClubToken's role look-up and cap check.
contract OZVotesToken is ERC20, ERC20Permit, ERC20Votes, ERC20Burnable {
    address private immutable MINTER;

    constructor(string memory name_, string memory symbol_, string memory eip712Name)
        ERC20(name_, symbol_)
        ERC20Permit(eip712Name)
    {
        MINTER = msg.sender;
    }

    function mint(address owner, uint256 amount) external {
        require(msg.sender == MINTER, "OZVotesToken: not the minter");
        _mint(owner, amount);
    }

    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
