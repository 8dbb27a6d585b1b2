docker save -o byid.tar 85f8dd08026e && tar -tvf byid.tar
