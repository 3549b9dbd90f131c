#!/usr/bin/env python3
"""Packet-filter rules of one hearsay test host, programmed over nf_tables netlink.

The hosts harness runs this inside a peer's network namespace (`ip netns exec NS python3
nft.py ...`). Machines without the `nft` or `iptables` programs still have nf_tables in the
kernel; Node cannot open netlink sockets, Python can. The message layout is libnftnl's.

    nft.py check                       create and delete a table: proves the kernel takes rules
    nft.py apply '[{"daddr": "10.77.1.3", "percent": 100}, ...]'
                                       replace the rules, atomically: outgoing IPv4 packets to
                                       each daddr are dropped with the given probability
                                       (100: always, a partition; 1..99: random loss)
    nft.py clear                       remove every rule of ours

Exit status 0 on success; otherwise one line on stderr saying what the kernel refused.
"""
import errno
import json
import os
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800
NLA_F_NESTED = 0x8000
NFPROTO_IPV4 = 2

NFT_MSG_NEWTABLE = 0
NFT_MSG_DELTABLE = 2
NFT_MSG_NEWCHAIN = 3
NFT_MSG_NEWRULE = 6

NFTA_TABLE_NAME = 1
NFTA_CHAIN_TABLE = 1
NFTA_CHAIN_NAME = 3
NFTA_CHAIN_HOOK = 4
NFTA_CHAIN_POLICY = 5
NFTA_CHAIN_TYPE = 7
NFTA_HOOK_HOOKNUM = 1
NFTA_HOOK_PRIORITY = 2
NFTA_RULE_TABLE = 1
NFTA_RULE_CHAIN = 2
NFTA_RULE_EXPRESSIONS = 4
NFTA_LIST_ELEM = 1
NFTA_EXPR_NAME = 1
NFTA_EXPR_DATA = 2
NFTA_PAYLOAD_DREG = 1
NFTA_PAYLOAD_BASE = 2
NFTA_PAYLOAD_OFFSET = 3
NFTA_PAYLOAD_LEN = 4
NFTA_CMP_SREG = 1
NFTA_CMP_OP = 2
NFTA_CMP_DATA = 3
NFTA_DATA_VALUE = 1
NFTA_DATA_VERDICT = 2
NFTA_VERDICT_CODE = 1
NFTA_NG_DREG = 1
NFTA_NG_MODULUS = 2
NFTA_NG_TYPE = 3
NFTA_IMMEDIATE_DREG = 1
NFTA_IMMEDIATE_DATA = 2

NF_INET_LOCAL_OUT = 3
NF_DROP = 0
NF_ACCEPT = 1
NFT_REG_VERDICT = 0
NFT_REG_1 = 1
NFT_PAYLOAD_NETWORK_HEADER = 1
NFT_CMP_EQ = 0
NFT_CMP_LT = 2
NFT_NG_RANDOM = 1

TABLE = b'hearsay'
CHAIN = b'out'
MAX_RULES = 4096


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def nested(kind, *children):
    return attr(kind | NLA_F_NESTED, b''.join(children))


def string(kind, value):
    return attr(kind, value + b'\0')


def be32(kind, value):
    return attr(kind, struct.pack('>I', value & 0xFFFFFFFF))


def expression(name, *fields):
    return nested(NFTA_LIST_ELEM, string(NFTA_EXPR_NAME, name), nested(NFTA_EXPR_DATA, *fields))


def ip_daddr_is(address):
    """The destination address of the IPv4 header into register 1, compared with `address`."""
    return [
        expression(b'payload', be32(NFTA_PAYLOAD_DREG, NFT_REG_1), be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER),
                   be32(NFTA_PAYLOAD_OFFSET, 16), be32(NFTA_PAYLOAD_LEN, 4)),
        expression(b'cmp', be32(NFTA_CMP_SREG, NFT_REG_1), be32(NFTA_CMP_OP, NFT_CMP_EQ),
                   nested(NFTA_CMP_DATA, attr(NFTA_DATA_VALUE, socket.inet_aton(address))))
    ]


def random_below(percent):
    """numgen random mod 100 < percent. The register holds a host-order u32 and cmp compares
    bytes; below 256 either byte order compares as the number, so the value is host-order too."""
    return [
        expression(b'numgen', be32(NFTA_NG_DREG, NFT_REG_1), be32(NFTA_NG_MODULUS, 100), be32(NFTA_NG_TYPE, NFT_NG_RANDOM)),
        expression(b'cmp', be32(NFTA_CMP_SREG, NFT_REG_1), be32(NFTA_CMP_OP, NFT_CMP_LT),
                   nested(NFTA_CMP_DATA, attr(NFTA_DATA_VALUE, struct.pack('=I', percent))))
    ]


def drop():
    return expression(b'immediate', be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT),
                      nested(NFTA_IMMEDIATE_DATA, nested(NFTA_DATA_VERDICT, be32(NFTA_VERDICT_CODE, NF_DROP))))


class Batch:
    def __init__(self):
        self.seq = int.from_bytes(os.urandom(3), 'big') << 4
        self.messages = []
        self.pending = set()

    def message(self, kind, flags, family, res_id, payload):
        self.seq += 1
        header = struct.pack('=BBH', family, 0, socket.htons(res_id))
        body = header + payload
        self.messages.append(struct.pack('=IHHII', 16 + len(body), kind, flags, self.seq, 0) + body)
        return self.seq

    def nft(self, command, flags, payload):
        seq = self.message((NFNL_SUBSYS_NFTABLES << 8) | command, NLM_F_REQUEST | NLM_F_ACK | flags, NFPROTO_IPV4, 0, payload)
        self.pending.add(seq)

    def send(self):
        subsystem = struct.pack('=BBH', 0, 0, socket.htons(NFNL_SUBSYS_NFTABLES))
        begin = struct.pack('=IHHII', 20, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, self.seq + 1, 0) + subsystem
        end = struct.pack('=IHHII', 20, NFNL_MSG_BATCH_END, NLM_F_REQUEST, self.seq + 2, 0) + subsystem
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            sock.bind((0, 0))
            sock.settimeout(5)
            sock.sendall(begin + b''.join(self.messages) + end)
            while self.pending:
                data = sock.recv(65536)
                offset = 0
                while offset + 16 <= len(data):
                    length, kind, _flags, seq, _pid = struct.unpack_from('=IHHII', data, offset)
                    if length < 16:
                        break
                    if kind == NLMSG_ERROR:
                        code = -struct.unpack_from('=i', data, offset + 16)[0]
                        if code != 0:
                            raise OSError(code, os.strerror(code))
                        self.pending.discard(seq)
                    offset += (length + 3) & ~3
        finally:
            sock.close()


def table_payload():
    return string(NFTA_TABLE_NAME, TABLE)


def replace_table(batch, keep):
    """Add (a no-op when it exists) and delete our table, so the batch starts from nothing;
    then, with `keep`, add it again with its output chain."""
    batch.nft(NFT_MSG_NEWTABLE, NLM_F_CREATE, table_payload())
    batch.nft(NFT_MSG_DELTABLE, 0, table_payload())
    if not keep:
        return
    batch.nft(NFT_MSG_NEWTABLE, NLM_F_CREATE, table_payload())
    batch.nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, b''.join([
        string(NFTA_CHAIN_TABLE, TABLE),
        string(NFTA_CHAIN_NAME, CHAIN),
        nested(NFTA_CHAIN_HOOK, be32(NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT), be32(NFTA_HOOK_PRIORITY, 0)),
        be32(NFTA_CHAIN_POLICY, NF_ACCEPT),
        string(NFTA_CHAIN_TYPE, b'filter')
    ]))


def add_rule(batch, expressions):
    batch.nft(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, b''.join([
        string(NFTA_RULE_TABLE, TABLE),
        string(NFTA_RULE_CHAIN, CHAIN),
        nested(NFTA_RULE_EXPRESSIONS, *expressions)
    ]))


def parse_rules(text):
    if len(text) > 1_000_000:
        raise ValueError('the rule list is over 1 MB')
    rules = json.loads(text)
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise ValueError(f'rules must be a list of at most {MAX_RULES}')
    parsed = []
    for rule in rules:
        if not isinstance(rule, dict) or set(rule) != {'daddr', 'percent'}:
            raise ValueError(f'a rule is {{"daddr": "A.B.C.D", "percent": 0..100}}, not {json.dumps(rule)[:80]}')
        percent = rule['percent']
        if not isinstance(percent, int) or isinstance(percent, bool) or percent < 0 or percent > 100:
            raise ValueError(f'percent must be an integer 0..100, not {json.dumps(percent)}')
        try:
            socket.inet_aton(rule['daddr'])
        except (OSError, TypeError):
            raise ValueError(f'{json.dumps(rule["daddr"])[:80]} is not an IPv4 address')
        if rule['daddr'].count('.') != 3:
            raise ValueError(f'{json.dumps(rule["daddr"])} is not a dotted IPv4 address')
        parsed.append((rule['daddr'], percent))
    return parsed


def main(argv):
    if len(argv) < 2 or argv[1] not in ('check', 'apply', 'clear'):
        sys.stderr.write('usage: nft.py check | apply RULES-JSON | clear\n')
        return 2
    batch = Batch()
    if argv[1] == 'apply':
        if len(argv) != 3:
            sys.stderr.write('usage: nft.py apply RULES-JSON\n')
            return 2
        rules = parse_rules(argv[2])
        replace_table(batch, True)
        for daddr, percent in rules:
            if percent == 0:
                continue
            add_rule(batch, ip_daddr_is(daddr) + (random_below(percent) if percent < 100 else []) + [drop()])
    elif argv[1] == 'check':
        replace_table(batch, True)
        add_rule(batch, ip_daddr_is('192.0.2.255') + random_below(1) + [drop()])
        replace_table(batch, False)
    else:
        replace_table(batch, False)
    batch.send()
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except ValueError as err:
        sys.stderr.write(f'nft.py: {err}\n')
        sys.exit(2)
    except OSError as err:
        hint = ''
        if err.errno == errno.EPERM:
            hint = ' (needs root, or CAP_NET_ADMIN in the namespace)'
        elif err.errno in (errno.EPROTONOSUPPORT, errno.ENOENT, errno.EOPNOTSUPP):
            hint = ' (does this kernel have nf_tables with numgen?)'
        sys.stderr.write(f'nft.py: the kernel refused the rules: {err.strerror or err}{hint}\n')
        sys.exit(1)
