"""Evaluates code in a running Jupyter server's kernel over its websocket channel.

    python kernel_ws_eval.py <base http url> <token> <kernel id> <code>

Prints one JSON object: {"status": execute_reply status, "stdout": ..., "results": [text/plain...]}.
Used by test/notebooks/lab.test.ts (Node 20 has no WebSocket client without a flag;
websocket-client is already in .venv as a JupyterLab dependency).
"""
import json
import sys
import uuid
from datetime import datetime, timezone

import websocket

base, token, kernel_id, code = sys.argv[1:5]
url = base.replace("http://", "ws://", 1) + f"/api/kernels/{kernel_id}/channels?token={token}"
session = uuid.uuid4().hex
msg_id = uuid.uuid4().hex
socket = websocket.create_connection(url, timeout=60)
socket.send(json.dumps({
    "channel": "shell",
    "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "test",
               "version": "5.3", "date": datetime.now(timezone.utc).isoformat()},
    "parent_header": {}, "metadata": {}, "buffers": [],
    "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                "allow_stdin": False, "stop_on_error": True},
}))
stdout, results, status, idle = [], [], None, False
while status is None or not idle:
    message = json.loads(socket.recv())
    if message.get("parent_header", {}).get("msg_id") != msg_id:
        continue
    kind = message["header"]["msg_type"]
    if kind == "stream" and message["content"]["name"] == "stdout":
        stdout.append(message["content"]["text"])
    elif kind in ("execute_result", "display_data"):
        results.append(message["content"]["data"].get("text/plain", ""))
    elif kind == "execute_reply":
        status = message["content"]["status"]
    elif kind == "status" and message["content"]["execution_state"] == "idle":
        idle = True
socket.close()
print(json.dumps({"status": status, "stdout": "".join(stdout), "results": results}))
