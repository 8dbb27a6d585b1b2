docker load -i x-badcfg.tar
