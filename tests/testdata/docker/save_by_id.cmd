docker save -o byid.tar f5455b23f29e && tar -tvf byid.tar
