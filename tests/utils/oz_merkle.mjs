// OpenZeppelin's StandardMerkleTree for the differential test of clubchat.communities.merkle.
// stdin: a JSON list of address lists; stdout: for each, {dump, root, proofs} as the library makes them.
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import fs from "fs";

const lists = JSON.parse(fs.readFileSync(0, "utf8"));
const out = lists.map((addrs) => {
  const t = StandardMerkleTree.of(addrs.map((a) => [a]), ["address"]);
  return { dump: t.dump(), root: t.root, proofs: addrs.map((_, i) => t.getProof(i)) };
});
process.stdout.write(JSON.stringify(out));
