docker load -i garbage.bin
