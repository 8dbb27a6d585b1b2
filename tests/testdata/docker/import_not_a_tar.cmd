docker import garbage.bin garbage:latest
