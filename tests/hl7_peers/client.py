"""python-hl7 MLLP client for wardwatch's peer tests.

Reads a JSON list of scenarios; each runs on its own connection made by python-hl7's
MLLPClient. A scenario is either one message sent with MLLPClient.send_message, or raw
chunks written one by one on the client's socket (TCP_NODELAY, a pause between writes so
each becomes its own TCP segment) followed by reading the expected number of ACK frames.
Every ACK is parsed with python-hl7 (hl7.parse) to record MSA-1 and MSA-2.

usage: client.py PORT SPEC.json RESULT.json
"""
import json
import socket
import sys
import time

import hl7
from hl7.client import MLLPClient


def read_acks(sock, n):
    buf = b""
    while buf.count(b"\x1c\r") < n:
        data = sock.recv(4096)
        if not data:
            break
        buf += data
    return [f.strip(b"\x0b\r") for f in buf.split(b"\x1c") if f.strip(b"\x0b\r")]


def main():
    port = int(sys.argv[1])
    spec = json.load(open(sys.argv[2]))
    results = []
    for sc in spec:
        client = MLLPClient("127.0.0.1", port)
        client.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        local_port = client.socket.getsockname()[1]
        if "message" in sc:
            raw = client.send_message(sc["message"])
            acks = [raw.strip(b"\x0b\x1c\r")]
        else:
            for chunk in sc["chunks"]:
                client.socket.sendall(chunk.encode("latin-1"))
                time.sleep(0.05)
            acks = read_acks(client.socket, sc["acks"])
        parsed = []
        for a in acks:
            m = hl7.parse(a.decode("utf-8"))
            msa = m.segment("MSA")
            parsed.append({"code": str(msa[1]), "control_id": str(msa[2])})
        time.sleep(0.05)
        client.close()
        results.append({"name": sc["name"], "local_port": local_port, "acks": parsed})
    json.dump(results, open(sys.argv[3], "w"), indent=1)


if __name__ == "__main__":
    main()
