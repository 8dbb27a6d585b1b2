docker import links.tar links:latest && tar -tvf links.tar
