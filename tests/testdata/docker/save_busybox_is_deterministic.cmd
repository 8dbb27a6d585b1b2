docker save busybox:latest -o again.tar && cmp busybox-save.tar again.tar && echo identical
