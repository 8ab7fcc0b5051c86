"""Class: a room for the class's drawings. The lecturer opens it and shows its code and QR code; students
draw a digit on their phones and send it; the lecturer's screen groups the drawings by the model's answer."""

import streamlit as st

from playground.ui import class_join, class_roles, class_screen, display

class_roles.read_address()
head = display.header("Class", class_roles.intro())

lecturing = class_roles.lecturing()
if lecturing is not None:
    code, key = lecturing
    with head.controls:
        st.header("Room")
        choice = class_screen.lecturer_controls(code, key)
    class_screen.lecturer(code, key, choice)
elif class_roles.joined() is not None:
    class_join.student(class_roles.joined())
else:
    class_join.start()
