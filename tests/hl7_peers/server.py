"""hl7apy MLLP server for wardwatch's peer tests.

hl7apy's MLLPServer routes each message to a handler by MSH-9; every message type gets
AckHandler, which parses the message with hl7apy and answers with an hl7apy-built ACK in
the message's own delimiters: AE when the control id starts with "AE", AR for "AR", else AA.
hl7apy's request handler answers one message and closes; LoopingHandler keeps reading so
several messages can share a connection (its framing and routing are hl7apy's own).

usage: server.py PORT
"""
import sys

from hl7apy.core import Message
from hl7apy.mllp import AbstractHandler, MLLPRequestHandler, MLLPServer
from hl7apy.parser import parse_message


class AckHandler(AbstractHandler):
    def reply(self):
        m = parse_message(self.incoming_message, find_groups=False)
        cid = m.msh.msh_10.to_er7()
        code = "AE" if cid.startswith("AE") else "AR" if cid.startswith("AR") else "AA"
        comp = m.encoding_chars["COMPONENT"]
        ack = Message("ACK", version=m.version, encoding_chars=m.encoding_chars)
        ack.msh.msh_3 = "PEER_SRV"
        ack.msh.msh_4 = "WARD"
        ack.msh.msh_5 = m.msh.msh_3.to_er7()
        ack.msh.msh_6 = m.msh.msh_4.to_er7()
        trigger = m.msh.msh_9.to_er7().split(comp)[1]
        ack.msh.msh_9 = comp.join(["ACK", trigger, "ACK"])
        ack.msh.msh_10 = "ACK-" + cid
        ack.msh.msh_11 = "P"
        ack.add_segment("MSA")
        ack.msa.msa_1 = code
        ack.msa.msa_2 = cid
        return ack.to_mllp()


class AnyType(dict):
    """Every MSH-9 routes to AckHandler."""

    def __getitem__(self, key):
        return (AckHandler,)


class LoopingHandler(MLLPRequestHandler):
    def handle(self):
        end_seq = self.eb + self.cr
        while True:
            line = self.rfile.read(1)
            if not line:
                return
            if line != self.sb:
                continue
            while line[-2:] != end_seq:
                char = self.rfile.read(1)
                if not char:
                    return
                line += char
            message = self._extract_hl7_message(line.decode(self.encoding))
            if message is None:
                return
            self.wfile.write(self._route_message(message).encode(self.encoding))


def main():
    port = int(sys.argv[1])
    server = MLLPServer("127.0.0.1", port, AnyType(), request_handler_class=LoopingHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
