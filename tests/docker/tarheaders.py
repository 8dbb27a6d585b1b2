#!/usr/bin/env python3
"""Dumps every tar header field of an archive (and its byte length and end padding), so the
exact layout docker writes can be matched: format, names, modes, owners, mtimes, link targets."""
import sys
import tarfile

FORMATS = {tarfile.USTAR_FORMAT: "ustar", tarfile.GNU_FORMAT: "gnu", tarfile.PAX_FORMAT: "pax"}


def main(path):
    data = open(path, "rb").read()
    with tarfile.open(path, "r:") as tf:
        for m in tf:
            hdr = data[m.offset:m.offset + 512]
            magic = hdr[257:265]
            print(f"offset={m.offset} data_offset={m.offset_data} name={m.name!r} "
                  f"type={m.type!r} mode={m.mode:o} uid={m.uid} gid={m.gid} "
                  f"uname={m.uname!r} gname={m.gname!r} size={m.size} mtime={m.mtime} "
                  f"linkname={m.linkname!r} magic={magic!r} pax={m.pax_headers!r} "
                  f"devmajor={m.devmajor} devminor={m.devminor}")
        end = tf.offset
    print(f"archive_bytes={len(data)} end_of_last_member={end} "
          f"trailing_bytes={len(data) - end} trailing_all_zero={not any(data[end:])}")


if __name__ == "__main__":
    main(sys.argv[1])
