#!/usr/bin/python3
"""Turn a binary file into a C source defining a const byte array and its length."""
import sys

data = open(sys.argv[1], "rb").read()
name = sys.argv[3]
with open(sys.argv[2], "w") as f:
    f.write("/* Generated from %s by embed.py. */\n#include <stddef.h>\n" % sys.argv[1].split("/")[-1])
    f.write("const unsigned char %s[] __attribute__((aligned(16))) = {\n" % name)
    for i in range(0, len(data), 12):
        f.write("        " + ", ".join("0x%02x" % b for b in data[i:i + 12]) + ",\n")
    f.write("};\nconst size_t %s_size = %d;\n" % (name, len(data)))
