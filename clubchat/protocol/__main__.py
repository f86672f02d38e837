"""`python -m clubchat.protocol` prints the protocol's JSON schema (the committed
clubchat/protocol/schema.json is this output; a test keeps them equal)."""

import json

from clubchat.protocol.messages import json_schema

print(json.dumps(json_schema(), indent=2))
